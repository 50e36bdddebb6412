package gen

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

type territory struct {
	name, region, country, currency string
	cities                          []string
	weight                          float64
	intl                            bool
	group                           int
	workStartUTC                    int // first business hour, in UTC
}

type group struct{ name, en string }

var groups = []group{{"华东", "East"}, {"华北", "North"}, {"华南", "South"}, {"华西", "West"}, {"华中", "Central"}, {"国际", "International"}}

var territories = []territory{
	{name: "上海", region: "华东", country: "CN", cities: []string{"上海"}, weight: 1.6, group: 0},
	{name: "江苏", region: "华东", country: "CN", cities: []string{"南京", "苏州", "无锡"}, weight: 1.4, group: 0},
	{name: "浙江", region: "华东", country: "CN", cities: []string{"杭州", "宁波", "温州"}, weight: 1.3, group: 0},
	{name: "北京", region: "华北", country: "CN", cities: []string{"北京"}, weight: 1.5, group: 1},
	{name: "山东", region: "华北", country: "CN", cities: []string{"济南", "青岛", "烟台"}, weight: 1.0, group: 1},
	{name: "天津", region: "华北", country: "CN", cities: []string{"天津"}, weight: 0.6, group: 1},
	{name: "广东", region: "华南", country: "CN", cities: []string{"广州", "深圳", "东莞", "佛山"}, weight: 1.7, group: 2},
	{name: "福建", region: "华南", country: "CN", cities: []string{"福州", "厦门", "泉州"}, weight: 0.8, group: 2},
	{name: "四川", region: "华西", country: "CN", cities: []string{"成都", "绵阳"}, weight: 0.9, group: 3},
	{name: "重庆", region: "华西", country: "CN", cities: []string{"重庆"}, weight: 0.6, group: 3},
	{name: "陕西", region: "华西", country: "CN", cities: []string{"西安"}, weight: 0.5, group: 3},
	{name: "湖北", region: "华中", country: "CN", cities: []string{"武汉", "宜昌"}, weight: 0.8, group: 4},
	{name: "湖南", region: "华中", country: "CN", cities: []string{"长沙"}, weight: 0.6, group: 4},
	{name: "河南", region: "华中", country: "CN", cities: []string{"郑州", "洛阳"}, weight: 0.7, group: 4},
	{name: "Singapore", region: "APAC", country: "SG", cities: []string{"Singapore"}, weight: 0.5, intl: true, group: 5, workStartUTC: 1},
	{name: "Germany", region: "EMEA", country: "DE", cities: []string{"Munich", "Berlin", "Hamburg"}, weight: 0.4, intl: true, group: 5, workStartUTC: 7},
	{name: "United States", region: "Americas", country: "US", cities: []string{"San Francisco", "New York", "Chicago"}, weight: 0.5, intl: true, group: 5, workStartUTC: 14},
}

func init() {
	for i := range territories {
		t := &territories[i]
		t.currency = "CNY"
		if t.intl {
			t.currency = "USD"
		} else {
			t.workStartUTC = 1 // 09:00 in Asia/Shanghai
		}
	}
}

// usdPerCNY converts list prices for international deals.
const usdPerCNY = 1.0 / 7.1

var segments = []string{"enterprise", "mid-market", "smb"}

const (
	segEnterprise = iota
	segMid
	segSMB
)

var segAmountMult = [3]float64{2.3, 1.0, 0.45}

type product struct {
	name   string
	base   float64 // typical amount in CNY
	weight float64
}

var products = []product{
	{"SaaS 标准版", 60000, 0.30},
	{"SaaS 企业版", 260000, 0.18},
	{"数据分析套件", 140000, 0.20},
	{"实施服务", 90000, 0.17},
	{"年度支持", 35000, 0.15},
}

var industries = []struct {
	name, cn, en string
	weight       float64
}{
	{"制造", "精密制造", "Precision", 0.22},
	{"零售", "商贸", "Retail", 0.14},
	{"金融", "金融服务", "Capital", 0.12},
	{"医疗", "医疗器械", "Health", 0.1},
	{"教育", "教育科技", "Learning", 0.08},
	{"物流", "物流", "Logistics", 0.1},
	{"互联网", "网络科技", "Digital", 0.16},
	{"能源", "能源", "Energy", 0.08},
}

var sourcesCN = []string{"website", "referral", "trade show", "partner", "outbound", "百度推广", "微信"}
var sourcesCNWeights = []float64{0.2, 0.15, 0.1, 0.12, 0.13, 0.15, 0.15}
var sourcesIntl = []string{"website", "referral", "trade show", "partner", "outbound"}
var sourcesIntlWeights = []float64{0.3, 0.2, 0.15, 0.15, 0.2}

var lostReasonsCN = []string{"价格", "竞争对手", "无预算", "无决策", "时机不对"}
var lostReasonsEN = []string{"price", "competitor", "no budget", "no decision", "timing"}

type pinyinName struct{ han, py string }

var surnames = []pinyinName{
	{"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"}, {"黄", "huang"},
	{"赵", "zhao"}, {"吴", "wu"}, {"周", "zhou"}, {"徐", "xu"}, {"孙", "sun"}, {"马", "ma"}, {"朱", "zhu"},
	{"胡", "hu"}, {"郭", "guo"}, {"何", "he"}, {"林", "lin"}, {"高", "gao"}, {"罗", "luo"}, {"郑", "zheng"}, {"梁", "liang"},
}

var givenNames = []pinyinName{
	{"伟", "wei"}, {"芳", "fang"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"}, {"强", "qiang"}, {"磊", "lei"},
	{"洋", "yang"}, {"艳", "yan"}, {"勇", "yong"}, {"军", "jun"}, {"杰", "jie"}, {"娟", "juan"}, {"涛", "tao"},
	{"明", "ming"}, {"超", "chao"}, {"秀英", "xiuying"}, {"志强", "zhiqiang"}, {"晓东", "xiaodong"}, {"丽华", "lihua"},
	{"建国", "jianguo"}, {"海燕", "haiyan"}, {"子涵", "zihan"}, {"雨桐", "yutong"}, {"浩然", "haoran"}, {"思远", "siyuan"},
}

var firstNamesEN = []string{"James", "Emma", "Lukas", "Anna", "Priya", "Daniel", "Sophie", "Michael", "Hannah", "Ethan", "Olivia", "Felix", "Mia", "Ryan", "Chloe", "Marcus"}
var lastNamesEN = []string{"Tan", "Lim", "Schmidt", "Weber", "Miller", "Johnson", "Lee", "Ng", "Fischer", "Brown", "Davis", "Koh", "Wagner", "Garcia"}

var companyWordsCN = []string{"星海", "华信", "恒通", "远航", "中科", "东方", "金桥", "天元", "新锐", "博达", "瑞丰", "明德", "鼎盛", "汇智", "盛世", "长城", "九州", "云帆", "泰和", "宏图", "嘉禾", "凯歌", "启航", "卓越", "同创", "永信", "万达", "华光", "联科", "致远"}
var companyWordsEN = []string{"Apex", "Summit", "Lumen", "Northwind", "Bluefin", "Harbor", "Keystone", "Vertex", "Orion", "Cedar", "Atlas", "Pioneer", "Meridian", "Silverline", "Evergreen", "Granite"}
var companySuffix = map[string]string{"SG": "Pte. Ltd.", "DE": "GmbH", "US": "Inc."}

type team struct {
	name      string
	group     int
	managerID string
	terrs     []int
}

type rep struct {
	idx                                                         int
	id, name, email, role, managerID, teamName, territory, lang string
	team, terr                                                  int // -1 for the director
	mult                                                        [4]float64
	size, cycle, act, capacity                                  float64
	hired                                                       time.Time
}

type account struct {
	id, name, short, city, industry string
	terr, seg                       int
	employees                       uint32
	revenue                         float64
	parent                          string
}

var cnNumerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

type org struct {
	teams     []team
	people    []*rep // director, managers, reps in id order
	reps      []*rep // sellers only
	repCum    []float64
	accounts  []account
	terrAccts [][]int32
}

// buildOrg makes the director, managers, teams and reps.
func buildOrg(r *rand.Rand, spec sizeSpec, asOf time.Time) *org {
	o := &org{}
	emails := map[string]bool{}
	n := 0
	newPerson := func(role string, en bool) *rep {
		n++
		p := &rep{idx: n - 1, id: "U" + pad(n, 4), role: role, lang: "zh-CN", team: -1, terr: -1}
		for {
			var local string
			if en {
				f, l := firstNamesEN[r.IntN(len(firstNamesEN))], lastNamesEN[r.IntN(len(lastNamesEN))]
				p.name, local = f+" "+l, lower(f)+"."+lower(l)
				p.lang = "en"
			} else {
				s, g := surnames[r.IntN(len(surnames))], givenNames[r.IntN(len(givenNames))]
				p.name, local = s.han+g.han, g.py+"."+s.py
			}
			email := local + "@example.com"
			for k := 2; emails[email]; k++ {
				email = local + strconv.Itoa(k) + "@example.com"
			}
			if !emails[email] {
				emails[email] = true
				p.email = email
				break
			}
		}
		return p
	}
	dir := newPerson("director", false)
	dir.territory, dir.hired = "全国", asOf.AddDate(-6, -2, 0)
	o.people = append(o.people, dir)
	for gi, gr := range groups {
		var terrs []int
		for ti, t := range territories {
			if t.group == gi {
				terrs = append(terrs, ti)
			}
		}
		for k := 0; k < spec.teamsPerGroup; k++ {
			tm := team{name: gr.name + cnNumerals[k%len(cnNumerals)] + "组", group: gi, terrs: terrs}
			if k >= len(cnNumerals) {
				tm.name = gr.name + strconv.Itoa(k+1) + "组"
			}
			intl := territories[terrs[0]].intl
			m := newPerson("manager", intl && r.IntN(3) > 0)
			m.managerID, m.teamName, m.team, m.terr = dir.id, tm.name, len(o.teams), terrs[0]
			m.territory = territories[terrs[0]].name
			m.hired = asOf.AddDate(-3-r.IntN(4), -r.IntN(12), -r.IntN(28))
			tm.managerID = m.id
			o.people = append(o.people, m)
			o.teams = append(o.teams, tm)
		}
	}
	for ti := range o.teams {
		tm := &o.teams[ti]
		intl := territories[tm.terrs[0]].intl
		for k := 0; k < spec.repsPerTeam; k++ {
			p := newPerson("rep", intl && r.IntN(5) > 0)
			p.managerID, p.teamName, p.team = tm.managerID, tm.name, ti
			p.terr = tm.terrs[k%len(tm.terrs)]
			p.territory = territories[p.terr].name
			p.hired = asOf.AddDate(-2-r.IntN(4), -r.IntN(12), -r.IntN(28))
			for s := range p.mult {
				p.mult[s] = 0.88 + 0.24*r.Float64()
			}
			p.size = math.Exp(0.25 * r.NormFloat64())
			p.cycle = 0.75 + 0.6*r.Float64()
			p.act = 0.6 + r.Float64()
			p.capacity = (0.6 + 0.8*r.Float64()) * territories[p.terr].weight
			o.people = append(o.people, p)
			o.reps = append(o.reps, p)
		}
	}
	o.updateRepWeights()
	return o
}

func (o *org) updateRepWeights() {
	o.repCum = o.repCum[:0]
	sum := 0.0
	for _, p := range o.reps {
		sum += p.capacity
		o.repCum = append(o.repCum, sum)
	}
}

func (o *org) pickRep(r *rand.Rand) *rep {
	x := r.Float64() * o.repCum[len(o.repCum)-1]
	i := sort.SearchFloat64s(o.repCum, x)
	if i >= len(o.reps) {
		i = len(o.reps) - 1
	}
	return o.reps[i]
}

// buildAccounts makes n accounts spread over territories by weight.
func (o *org) buildAccounts(r *rand.Rand, n int) {
	var terrCum []float64
	sum := 0.0
	for _, t := range territories {
		sum += t.weight
		terrCum = append(terrCum, sum)
	}
	var indCum []float64
	sum = 0
	for _, in := range industries {
		sum += in.weight
		indCum = append(indCum, sum)
	}
	o.terrAccts = make([][]int32, len(territories))
	names := map[string]bool{}
	var enterprises = make([][]int32, len(territories))
	for i := 0; i < n; i++ {
		ti := pickCum(r, terrCum)
		t := &territories[ti]
		ii := pickCum(r, indCum)
		in := industries[ii]
		city := t.cities[r.IntN(len(t.cities))]
		var a account
		a.id, a.terr, a.city, a.industry = "ACC-"+pad(i+1, 6), ti, city, in.name
		emp := math.Exp(5.0 + 1.5*r.NormFloat64())
		emp = math.Max(5, math.Min(emp, 200000))
		a.employees = uint32(emp)
		switch {
		case a.employees >= 1000:
			a.seg = segEnterprise
		case a.employees >= 100:
			a.seg = segMid
		default:
			a.seg = segSMB
		}
		perEmp := 300000 + 1200000*r.Float64()
		if t.intl {
			perEmp *= 0.25
		}
		a.revenue = math.Round(emp*perEmp/10000) * 10000
		for k := 0; ; k++ {
			var name, short string
			if t.intl {
				short = companyWordsEN[r.IntN(len(companyWordsEN))] + " " + in.en
				name = short + " " + companySuffix[t.country]
			} else {
				short = city + companyWordsCN[r.IntN(len(companyWordsCN))] + in.cn
				suffix := "有限公司"
				if a.seg == segEnterprise {
					suffix = "股份有限公司"
				}
				name = short + suffix
			}
			if k >= 5 {
				short += strconv.Itoa(i + 1)
				name = short + " " + name
			}
			if !names[name] {
				names[name] = true
				a.name, a.short = name, short
				break
			}
		}
		if a.seg != segEnterprise && len(enterprises[ti]) > 0 && r.IntN(30) == 0 {
			a.parent = o.accounts[enterprises[ti][r.IntN(len(enterprises[ti]))]].id
		}
		if a.seg == segEnterprise {
			enterprises[ti] = append(enterprises[ti], int32(i))
		}
		o.terrAccts[ti] = append(o.terrAccts[ti], int32(i))
		o.accounts = append(o.accounts, a)
	}
	// Every territory needs accounts for its reps.
	for ti := range territories {
		if len(o.terrAccts[ti]) == 0 {
			o.terrAccts[ti] = append(o.terrAccts[ti], 0)
		}
	}
}

func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	i := sort.SearchFloat64s(cum, x)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	return i
}

func (o *org) repChunk() *Chunk {
	var rr repRows
	for _, p := range o.people {
		rr.id = append(rr.id, p.id)
		rr.name = append(rr.name, p.name)
		rr.email = append(rr.email, p.email)
		rr.role = append(rr.role, p.role)
		rr.manager = append(rr.manager, p.managerID)
		rr.team = append(rr.team, p.teamName)
		rr.territory = append(rr.territory, p.territory)
		rr.lang = append(rr.lang, p.lang)
		rr.active = append(rr.active, 1)
		rr.hired = append(rr.hired, p.hired)
		rr.sys = append(rr.sys, sourceSystem)
	}
	return rr.chunk()
}

func (o *org) accountChunks(size int) []*Chunk {
	var out []*Chunk
	for lo := 0; lo < len(o.accounts); lo += size {
		hi := min(lo+size, len(o.accounts))
		var ar accountRows
		for _, a := range o.accounts[lo:hi] {
			t := &territories[a.terr]
			ar.id = append(ar.id, a.id)
			ar.name = append(ar.name, a.name)
			ar.territory = append(ar.territory, t.name)
			ar.region = append(ar.region, t.region)
			ar.country = append(ar.country, t.country)
			ar.city = append(ar.city, a.city)
			ar.industry = append(ar.industry, a.industry)
			ar.segment = append(ar.segment, segments[a.seg])
			ar.employees = append(ar.employees, a.employees)
			ar.revenue = append(ar.revenue, a.revenue)
			ar.parent = append(ar.parent, a.parent)
			ar.sys = append(ar.sys, sourceSystem)
		}
		out = append(out, ar.chunk())
	}
	return out
}

// pad formats n with at least width digits.
func pad(n, width int) string {
	var buf [24]byte
	return string(appendPad(buf[:0], n, width))
}

func appendPad(b []byte, n, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
